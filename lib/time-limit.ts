// A promise with a time limit: `work`'s outcome if it settles within `ms`, else the error `expired()` builds.
// The work is not cancelled (nothing generic can cancel it); its later failure is swallowed, since nobody
// waits for it any more. The callers own what to undo after an expiry.
export function withinTime<T>(work: Promise<T>, ms: number, expired: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(expired()), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, expiry]).finally(() => clearTimeout(timer));
}
