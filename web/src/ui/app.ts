/** The page: sign-in screens, or header + session list + selected session. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import type { ConsoleModel } from '../state/store.ts';
import { Header } from './header.ts';
import { Notices } from './notices.ts';
import { SessionList } from './session-list.ts';
import { SessionView } from './session-view.ts';
import { SignIn } from './sign-in.ts';

export function App({ model }: { model: ConsoleModel }): VNode {
  const auth = model.state.auth.value;
  switch (auth.kind) {
    case 'loading':
      return html`<${SignIn} title="Signing in…" message="Checking your session." />`;
    case 'signed-out':
      return html`<${SignIn} title="Sign in" message=${auth.message} />`;
    case 'error':
      return html`<${SignIn} title="Can't reach the server" message=${auth.message} />`;
    case 'signed-in':
      return html`<div class="app">
        <a class="skip" href="#main">Skip to the session</a>
        <${Header} model=${model} />
        <div class="layout">
          <${SessionList} model=${model} />
          <main class="main" id="main" tabindex="-1">
            <${SessionView} model=${model} />
          </main>
        </div>
        <${Notices} model=${model} />
      </div>`;
  }
}
