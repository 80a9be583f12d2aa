// The widespread Axios response-interceptor recipe: an isRefreshing flag plus a failedQueue of
// requests that got a 401 while a refresh was running; the refresh itself goes through the cookie
// (withCredentials), and every 401'd request is retried once (`_retry`).
import axios from 'axios';

export const name = 'axios interceptor recipe';

export async function create({ refreshUrl }) {
  const api = axios.create({ withCredentials: true });
  let isRefreshing = false;
  let failedQueue = [];

  const processQueue = (error) => {
    failedQueue.forEach((p) => (error ? p.reject(error) : p.resolve()));
    failedQueue = [];
  };

  api.interceptors.response.use(
    (response) => response,
    async (error) => {
      const original = error.config;
      if (error.response && error.response.status === 401 && !original._retry) {
        if (isRefreshing) {
          return new Promise((resolve, reject) => failedQueue.push({ resolve, reject })).then(() => api(original));
        }
        original._retry = true;
        isRefreshing = true;
        try {
          await axios.post(refreshUrl, {}, { withCredentials: true });
          processQueue(null);
          return api(original);
        } catch (refreshError) {
          processQueue(refreshError);
          throw refreshError;
        } finally {
          isRefreshing = false;
        }
      }
      return Promise.reject(error);
    },
  );

  return {
    async get(url) {
      try {
        return (await api.get(url)).status;
      } catch (e) {
        if (e && e.response) return e.response.status;
        throw e;
      }
    },
  };
}
