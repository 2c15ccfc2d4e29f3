// kafkajs 2.2.4 schedules a timer with a negative delay on Node 24, which prints a TimeoutNegativeWarning
// for every client; it is harmless (Node clamps the delay to 1 ms), so only that warning is dropped.
export function silenceKnownWarnings(): void {
  const defaultHandlers = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    if (warning.name === "TimeoutNegativeWarning") return;
    for (const handler of defaultHandlers) handler(warning);
  });
}
