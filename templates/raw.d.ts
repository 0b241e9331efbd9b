// Text assets imported with `?raw` (vite/vitest natively, esbuild through the build's plugin) arrive as strings.
declare module '*?raw' {
  const text: string;
  export default text;
}
