/**
 * HTTP agents that open a fresh connection per request, for calls to peers. A pooled
 * keep-alive socket whose other end went away during a network cut fails with a reset
 * on reuse, which would count a healthy peer as down.
 */
import http from 'node:http';
import https from 'node:https';

export const freshConnections = {http: new http.Agent({keepAlive: false}), https: new https.Agent({keepAlive: false})};
