/** The werift SFU driver (pure TypeScript, media in a child process). */
export { createWeriftSfu, WeriftSfu } from './werift-sfu.ts';
