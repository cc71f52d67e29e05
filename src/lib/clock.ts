/** Milliseconds since the epoch; injected so protocol code and tests control time. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
