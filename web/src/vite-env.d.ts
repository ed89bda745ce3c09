/** Vite's asset imports used by the console (`?url`: the emitted file's address; `?worker&url`: a bundled worker's). */
declare module '*?url' {
  const url: string;
  export default url;
}
declare module '*?worker&url' {
  const url: string;
  export default url;
}
