// IncomingMessage (Node's _http_incoming.js). Node's own class does the work: its lazy
// `headers` getter applies Node's duplicate rules to the flat `rawHeaders` we fill, and its
// `_read`/`_dump`/`_destroy` drive our socket through pause/resume/destroy. Subclassing keeps
// `instanceof http.IncomingMessage` true and survives Express swapping the prototype.
import * as http from 'node:http';

export class IncomingMessage extends http.IncomingMessage {}
