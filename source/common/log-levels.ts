/** The log levels both programs accept, apart from the logger so that parsing flags does not load it. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
