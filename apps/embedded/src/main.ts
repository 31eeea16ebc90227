import { closeOnSignals, runMain } from '@wcp/nest-common';
import { startEmbedded } from './index';

/** `npm start`: the embedded control plane; SIGINT/SIGTERM shut it down gracefully. */
async function main() {
  const system = await startEmbedded();
  closeOnSignals(() => system.close(), (m) => console.log(m));
}

runMain(main);
