import { defineConfig } from 'vite';

// `npm run example:spa` serves this app on http://localhost:5173, the origin the demo client
// `demo-spa` is registered with (redirect http://localhost:5173/callback).
export default defineConfig({
  server: { host: 'localhost', port: 5173, strictPort: true },
  preview: { host: 'localhost', port: 5173, strictPort: true },
  build: { outDir: 'dist', emptyOutDir: true },
});
