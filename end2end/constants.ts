/** The local-mode sign-in secret of the test server (specs sign in through /auth/local). */
export const loginToken = 'e2e-local-login-token-0123456789';
