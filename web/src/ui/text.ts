/** Renders `code` spans written with backticks in a message, as text otherwise (never as HTML). */
import { html } from 'htm/preact';
import type { VNode } from 'preact';

export function withCode(text: string): Array<string | VNode> {
  return text.split('`').map((part, i) => (i % 2 === 1 ? html`<code>${part}</code>` : part));
}
