// A counting proxy in front of a MongoDB-wire server: how many operations each command costs.
//
//   node bench/commands/wire-count.mjs 27318 127.0.0.1:27317 27319 &   (listen, upstream, HTTP port)
//   MONGODB_URI=mongodb://127.0.0.1:27318/ WIRE_COUNT_URL=http://127.0.0.1:27319 node bench/commands/run.mjs
//
// Counts every OP_MSG from clients by command name and collection (`find rm_workloads`), and the
// documents of insert/update/delete batches. `GET /` on the HTTP port answers the counts so far;
// the bench takes them before and after each phase and prints the difference per request.
import { createServer, connect } from 'node:net';
import { createServer as createHttp } from 'node:http';

const [listenPort, upstream, httpPort] = process.argv.slice(2);
const [upHost, upPort] = upstream.split(':');
const counts = {};
const bump = (key, n = 1) => (counts[key] = (counts[key] ?? 0) + n);

/** The first element of a BSON document: its name (the command) and, if a string, its value (the collection). */
function firstElement(buf, at) {
  const type = buf[at + 4];
  let end = at + 5;
  while (buf[end] !== 0) end++;
  const name = buf.toString('latin1', at + 5, end);
  let value = '';
  if (type === 0x02) {
    const len = buf.readInt32LE(end + 1);
    value = buf.toString('utf8', end + 5, end + 5 + len - 1);
  }
  return { name, value };
}

function countMessage(msg) {
  const opCode = msg.readInt32LE(12);
  if (opCode !== 2013) return bump(`opcode ${opCode}`);
  let at = 20;
  let command = '?';
  const docs = [];
  while (at < msg.length) {
    const kind = msg[at];
    if (kind === 0) {
      const { name, value } = firstElement(msg, at + 1);
      command = value ? `${name} ${value}` : name;
      at += 1 + msg.readInt32LE(at + 1);
    } else if (kind === 1) {
      const size = msg.readInt32LE(at + 1);
      let p = at + 5;
      while (msg[p] !== 0) p++;
      p++;
      let n = 0;
      while (p < at + 1 + size) {
        n++;
        p += msg.readInt32LE(p);
      }
      docs.push(n);
      at += 1 + size;
    } else break;
  }
  if (['hello', 'isMaster', 'ismaster', 'ping', 'endSessions'].some((c) => command.startsWith(c))) return bump('(handshake/ping)');
  bump(command);
  for (const n of docs) bump(`${command} (documents)`, n);
}

createServer((client) => {
  const server = connect(Number(upPort), upHost);
  let pending = Buffer.alloc(0);
  client.on('data', (chunk) => {
    server.write(chunk);
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 4) {
      const len = pending.readInt32LE(0);
      if (pending.length < len) break;
      countMessage(pending.subarray(0, len));
      pending = pending.subarray(len);
    }
  });
  server.on('data', (chunk) => client.write(chunk));
  const close = () => {
    client.destroy();
    server.destroy();
  };
  client.on('error', close).on('close', close);
  server.on('error', close).on('close', close);
}).listen(Number(listenPort), '127.0.0.1');

createHttp((_, res) => res.end(JSON.stringify(counts))).listen(Number(httpPort), '127.0.0.1');
