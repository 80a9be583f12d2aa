import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { AuthProvider } from 'authflight/react';
import { App } from './App.jsx';
import './styles.css';

// The same options a Django + Simple JWT + dj-rest-auth app would use: tokens live in HttpOnly
// cookies, the refresh view reads the `refresh` cookie and sets the rotated pair.
const options = { refreshUrl: '/api/auth/token/refresh/' };

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <AuthProvider options={options} fallback={<p className="boot">Loading authflight…</p>}>
      <App />
    </AuthProvider>
  </StrictMode>,
);
