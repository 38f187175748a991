/** Progress lines on stderr for long work: batches done, samples/s, ETA. Silent with --quiet. */
export function progressReporter(quiet: boolean, batchSize: number, write = (s: string) => process.stderr.write(s)) {
  // A pass's clock starts when the previous one ended (the first: when the reporter was made).
  let start = performance.now(), lastPass = '', lastPrint = 0, lastTick = start;
  return (done: number, total: number, pass: string) => {
    const now = performance.now();
    if (pass !== lastPass) {
      if (lastPass) start = lastTick;
      lastPass = pass;
    }
    lastTick = now;
    if (quiet) return;
    if (done < total && now - lastPrint < 1000) return;
    lastPrint = now;
    const secs = (now - start) / 1000;
    const rate = (done * batchSize) / Math.max(secs, 1e-3);
    const eta = done < total ? `, ETA ${Math.ceil(((total - done) * secs) / done)} s` : '';
    write(`calibration ${pass}: batch ${done}/${total}, ${rate.toFixed(1)} samples/s${eta}\n`);
  };
}
