/** The stand-in's text world: channels, threads, history, live authors, attachments, rate limits. */
export { StandinText, defaultStandinTextOptions, type StandinTextOptions, type PostInput, type AllowedMentions } from './text.ts';
export { TextStore, TextApiError, ChannelType, snowflakeAt, snowflakeTime, type TextMessage, type TextChannel } from './store.ts';
export { RateLimiter, GLOBAL_LIMIT, ROUTE_LIMITS, DEFAULT_ROUTE_LIMIT, bucketHash, routeTemplate, majorParameter, type RouteLimit, type LimitDecision } from './limits.ts';
export { AttachmentCdn } from './attachments.ts';
export { wireTextDispatch, type DispatchTarget } from './dispatch.ts';
export { handleTextRoute, isTextRoute } from './routes.ts';
