// login.js - the token login: the dialog shown on a 401 answer, with the
// reason when a token was refused.
//
// Not here: keeping the token (api.js), the form's submit (app.js, init).

import { $ } from './util.js';

export function showLogin(msg) {
  const d = $('login');
  $('login-error').hidden = !msg;
  $('login-error').textContent = msg || '';
  if (!d.open) d.showModal();
  $('login-token').focus();
}
