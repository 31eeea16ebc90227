// Smoke test of the servers started by infra/up.sh (not part of the test suite).
// Needs kafkajs@2.2.4 and mongoose@9 resolvable, e.g.:
//   mkdir -p /tmp/infra-smoke && (cd /tmp/infra-smoke && npm i kafkajs@2.2.4 mongoose@9)
//   NODE_PATH=/tmp/infra-smoke/node_modules node infra/smoke.js
const { Kafka, logLevel } = require('kafkajs');
const mongoose = require('mongoose');
const assert = require('node:assert/strict');

const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:19092').split(',');
const mongoUri = process.env.MONGODB_URI || 'mongodb://127.0.0.1:27117/';
const t0 = Date.now();
const step = (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(2)}s] ${m}`);

async function kafkaSmoke() {
  const kafka = new Kafka({ clientId: 'smoke', brokers, logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  const cluster = await admin.describeCluster();
  step(`kafka cluster ${cluster.clusterId}, brokers ${cluster.brokers.length}`);
  const topic = `smoke-${Date.now()}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  step(`created topic ${topic}`);

  // plain producer
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `plain-${i}` })) });
  step('plain produce ok');

  // idempotent + transactional producer: one committed and one aborted transaction
  const txProducer = kafka.producer({ idempotent: true, transactionalId: `smoke-tx-${Date.now()}`, maxInFlightRequests: 1 });
  await txProducer.connect();
  let tx = await txProducer.transaction();
  await tx.send({ topic, messages: [{ key: 'tx', value: 'committed-1' }, { key: 'tx', value: 'committed-2' }] });
  await tx.commit();
  tx = await txProducer.transaction();
  await tx.send({ topic, messages: [{ key: 'tx', value: 'aborted-1' }] });
  await tx.abort();
  step('transactional produce (commit + abort) ok');

  // auto-created topic via a plain send (auto.create.topics.enable)
  const autoTopic = `smoke-auto-${Date.now()}`;
  await producer.send({ topic: autoTopic, messages: [{ value: 'auto' }] });
  step(`auto-created topic ${autoTopic} ok`);

  // consumer group, read_committed (default isolation in kafkajs is READ_COMMITTED)
  const consumer = kafka.consumer({ groupId: `smoke-group-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout, got ${got.length}: ${got}`)), 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value.toString());
        if (got.length >= 12) { clearTimeout(timer); resolve(); }
      },
    });
  });
  await done;
  await new Promise((r) => setTimeout(r, 500)); // make sure nothing else (aborted) arrives
  assert.equal(got.length, 12, `got ${got}`);
  assert.ok(!got.includes('aborted-1'));
  assert.ok(got.includes('committed-2'));
  step(`consumer group received ${got.length} messages (aborted tx not visible)`);
  // offsets committed for the group
  await consumer.commitOffsets?.([]);
  await consumer.disconnect();
  const groups = await admin.listGroups();
  step(`groups: ${groups.groups.length}`);

  // timestamp far in the future (log.message.timestamp.after.max.ms fix)
  await producer.send({ topic, messages: [{ value: 'future', timestamp: String(Date.now() + 3 * 3600 * 1000) }] });
  step('future-timestamp message accepted');

  await producer.disconnect();
  await txProducer.disconnect();
  await admin.deleteTopics({ topics: [topic, autoTopic] });
  await admin.disconnect();
  step('kafka smoke PASSED');
}

async function mongoSmoke() {
  await mongoose.connect(mongoUri, { dbName: `smoke_${Date.now()}`, serverSelectionTimeoutMS: 5000 });
  step('mongoose connected');
  const schema = new mongoose.Schema({ tenant: String, sku: String, qty: Number, n: Number });
  schema.index({ tenant: 1, sku: 1 }, { unique: true });
  const Item = mongoose.model('Item', schema);
  await Item.init(); // builds indexes
  await Item.createIndexes();
  const idx = await Item.collection.indexes();
  assert.ok(idx.some((i) => i.unique && i.key.tenant === 1 && i.key.sku === 1), JSON.stringify(idx));
  step('unique compound index created');

  await Item.create({ tenant: 't1', sku: 'a', qty: 1, n: 0 });
  await assert.rejects(Item.create({ tenant: 't1', sku: 'a', qty: 2, n: 1 }), (e) => e.code === 11000 && /E11000/.test(e.message));
  step('duplicate key -> E11000 ok');

  let doc = await Item.findOneAndUpdate({ tenant: 't1', sku: 'b' }, { $inc: { qty: 5 }, $setOnInsert: { n: 1 } }, { upsert: true, returnDocument: 'after' });
  assert.equal(doc.qty, 5);
  doc = await Item.findOneAndUpdate({ tenant: 't1', sku: 'b' }, { $inc: { qty: 5 } }, { upsert: true, returnDocument: 'after' });
  assert.equal(doc.qty, 10);
  step('findOneAndUpdate upsert + $inc ok');

  await Item.insertMany(Array.from({ length: 20 }, (_, i) => ({ tenant: 't2', sku: `s${i}`, qty: i, n: i + 2 })));
  assert.equal(await Item.countDocuments({}), 22);
  assert.equal(await Item.countDocuments({ tenant: 't2', qty: { $gte: 10 } }), 10);
  step('countDocuments ok');

  const page = await Item.find({ tenant: 't2' }).sort({ qty: -1 }).skip(5).limit(3).lean();
  assert.deepEqual(page.map((d) => d.qty), [14, 13, 12]);
  step('sort/skip/limit ok');

  await mongoose.connection.db.dropDatabase();
  await mongoose.disconnect();
  step('mongo smoke PASSED');
}

(async () => {
  await Promise.all([kafkaSmoke(), mongoSmoke()]);
  console.log('SMOKE OK');
  process.exit(0);
})().catch((e) => { console.error('SMOKE FAILED', e); process.exit(1); });
