'use strict';
// A machine's credentials for a token (POST /dashboard/login: /v1/watchers/login's), kept in a cookie
// that only this site's own requests carry.
document.getElementById('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = document.getElementById('error');
  err.textContent = '';
  try {
    const r = await fetch('/dashboard/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ machine_id: document.getElementById('machine').value,
                             password: document.getElementById('password').value }) });
    const j = await r.json();
    if (r.status !== 200 || !j.token) { err.textContent = j.message || ('login failed: ' + r.status); return; }
    document.cookie = 'jwt=' + j.token + '; path=/; SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' : '');
    location.href = '/dashboard';
  } catch (e) { err.textContent = 'login failed: ' + e; }
});
