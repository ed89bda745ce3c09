/** Entry: take the login token out of the address first, then render and start the console. */
import { render } from 'preact';
import { html } from 'htm/preact';
import { takeLoginToken } from './auth/session.ts';
import { createConsole } from './app.ts';
import { App } from './ui/app.ts';

const loginToken = takeLoginToken(location.hash, (url) => history.replaceState(null, '', url));
const model = createConsole();
const root = document.getElementById('app');
if (root) {
  root.replaceChildren();
  render(html`<${App} model=${model} />`, root);
}
void model.start(loginToken);
