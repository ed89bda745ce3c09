/** A speaker's picture: the avatar image (alt = name), or initials when there is none or it fails to load. */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { VNode } from 'preact';
import { initials, safeImageUrl } from './format.ts';

/** A stable hue per name so initials tiles are told apart at a glance. */
function hue(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) % 360;
  return h;
}

export function Avatar({ name, url }: { name: string; url: string | null }): VNode {
  const safe = safeImageUrl(url);
  const [failed, setFailed] = useState<string | null>(null);
  if (safe && failed !== safe) {
    return html`<img class="avatar" src=${safe} alt=${name} width="56" height="56" loading="lazy" decoding="async" referrerpolicy="no-referrer" onError=${() => setFailed(safe)} />`;
  }
  return html`<span class="avatar avatar-initials" role="img" aria-label=${name} style=${{ '--hue': String(hue(name)) }}>${initials(name)}</span>`;
}
