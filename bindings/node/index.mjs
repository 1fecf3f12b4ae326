// ES module entry: the same objects as index.js.
import sprawl from './index.js';

export const {
  Client, Node, Message, Subscription, SprawlError, version,
  setLogger, setLogLevel, logLevel, logDropped,
} = sprawl;
export default sprawl;
