import { KeyLogFormatError, TlsKeyLog } from '../tls/keylog.js';
import { readTextInputs } from './text-inputs.js';

/** Reads the --tls-keylog files (NSS key log format) into one set of secrets; see readTextInputs for the errors. */
export function readTlsKeyLogs(files: readonly string[]): TlsKeyLog {
  const keyLog = new TlsKeyLog();
  readTextInputs('TLS key log', files, (text, file) => keyLog.read(text, file), KeyLogFormatError);
  return keyLog;
}
