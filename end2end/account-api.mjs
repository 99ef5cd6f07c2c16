// A stand-in for AWS Account Management's primary-email operations (moto has none), speaking
// the same REST-JSON protocol the server's real SDK client uses: Start answers PENDING, except
// for an address containing "taken", which is in use (ConflictException); Accept refuses every
// code (no code is mailed here: the Rust process test covers AWS's mail and the Accept).
import http from 'node:http';

const port = Number(process.env.ACCOUNT_API_PORT ?? 3461);

function answer(res, status, body, errorType) {
  const headers = { 'Content-Type': 'application/json' };
  if (errorType) headers['x-amzn-ErrorType'] = errorType;
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}

http
  .createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/healthz') return answer(res, 200, { ok: true });
      let body = {};
      try {
        body = JSON.parse(text || '{}');
      } catch {
        return answer(res, 400, { message: 'not JSON' }, 'ValidationException');
      }
      switch (req.url) {
        case '/startPrimaryEmailUpdate':
          if (String(body.PrimaryEmail ?? '').includes('taken')) {
            return answer(res, 409, { message: 'the email address is already in use' }, 'ConflictException');
          }
          return answer(res, 200, { Status: 'PENDING' });
        case '/acceptPrimaryEmailUpdate':
          return answer(res, 400, { message: 'the one-time password is not valid' }, 'ValidationException');
        case '/getPrimaryEmail':
          return answer(res, 404, { message: 'account not found' }, 'ResourceNotFoundException');
        default:
          return answer(res, 404, { message: `no route ${req.url}` }, 'UnknownOperationException');
      }
    });
  })
  .listen(port, '127.0.0.1');
