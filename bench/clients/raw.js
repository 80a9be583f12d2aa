// Raw fetch: no refresh handling at all (the floor). A 401 is simply a failed request.
export const name = 'raw fetch';

export async function create() {
  return {
    async get(url) {
      const res = await fetch(url, { credentials: 'same-origin' });
      await res.json();
      return res.status;
    },
  };
}
