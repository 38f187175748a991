declare module 'bmp-js' {
  /** Pixels come as ABGR bytes. */
  export function decode(buf: Buffer): { width: number; height: number; data: Buffer };
  const bmp: { decode: typeof decode };
  export default bmp;
}
