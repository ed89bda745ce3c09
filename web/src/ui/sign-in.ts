/** Shown when there is no session: how to get one. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { withCode } from './text.ts';

export function SignIn({ title, message }: { title: string; message: string }): VNode {
  return html`<main class="center" id="main">
    <section class="card" aria-labelledby="signin-title">
      <p class="product">Promethean Voice Bridge</p>
      <h1 id="signin-title">${title}</h1>
      <p role="status">${withCode(message)}</p>
    </section>
  </main>`;
}
