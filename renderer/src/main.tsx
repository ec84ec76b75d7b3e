import './zod-config';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { getStation } from './bridge';
import { StoreProvider } from './hooks';
import { createStationStore } from './store';
import './styles/tokens.css';
import './styles/base.css';
import './styles/components.css';
import './styles/layout.css';
import './styles/screens.css';

const store = createStationStore(getStation(), {
  requestFrame: (cb) => window.requestAnimationFrame(cb),
  cancelFrame: (h) => window.cancelAnimationFrame(h as number),
  setTimeout: (cb, ms) => window.setTimeout(cb, ms),
  clearTimeout: (h) => window.clearTimeout(h as number),
});

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <StoreProvider store={store}>
        <App />
      </StoreProvider>
    </StrictMode>,
  );
}
