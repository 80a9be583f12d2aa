// axios + axios-auth-refresh with its default options; the refresh goes through the cookie.
import axios from 'axios';
import createAuthRefreshInterceptor from 'axios-auth-refresh';

export const name = 'axios-auth-refresh';

export async function create({ refreshUrl }) {
  const api = axios.create({ withCredentials: true });
  const refreshAuthLogic = () => axios.post(refreshUrl, {}, { withCredentials: true });
  createAuthRefreshInterceptor(api, refreshAuthLogic);
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
