// ServerResponse (Node's _http_outgoing.js / _http_server.js). Node's own class stores headers,
// builds the head exactly as node:http does (_storeHeader: status line, Date, Connection,
// Keep-Alive, Content-Length or chunked) and writes through `res.socket`, which is our
// connection: its writes are batched per JS turn into one native call.
import * as http from 'node:http';

export class ServerResponse<Request extends http.IncomingMessage = http.IncomingMessage> extends http.ServerResponse<Request> {}
