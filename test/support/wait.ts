// Waiting in tests, on facts rather than fixed sleeps: `waitFor(probe, timeoutMs | options, what?)` polls until
// the probe returns something truthy and returns it (the one polling loop, lib/clock.ts, which the demo and
// the local stack use too). Code that reads time takes a Clock: tests pass lib/clock.ts's ManualClock.
export { ManualClock, waitFor, type WaitOptions } from "../../lib/clock.ts";
