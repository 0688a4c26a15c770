// A client built on keycloak-js's `authz` export (KeycloakAuthorization): fetch one protected
// resource.
//
// Run by the harness once per browser visit (profile.yaml, `start_command`):
//     node client.mjs RESOURCE_URL ID_TOKEN
//
// The app requests the resource without a token; on a `401` with a `UMA` challenge it asks the AS
// for an RPT with `authorize({ ticket })` and retries with the RPT. Each visit starts afresh.
//
// keycloak-js is a browser library: it reads the AS from a Keycloak adapter instance (server
// URL, realm, client id, and the user's access token from an OpenID Connect login, which it
// forwards as `Authorization: Bearer` on the token request) and sends with XMLHttpRequest. Node
// has no XMLHttpRequest, so the package xhr2 stands in for the browser's, and the adapter state
// the library reads is given directly: the harness has no login at its AS, so the user's token
// is the requesting party's ID token from the harness's identity provider. The UMA discovery
// document is read by the library itself ({server}/realms/{realm}/.well-known/uma2-configuration).
//
// Configuration (environment): UMA_INTEROP_AS (the issuer, {server}/realms/{realm}),
// UMA_INTEROP_CLIENT_ID (a public client: the library sends no client credentials),
// UMA_INTEROP_NODE_MODULES (where interop/run installed interop/node/package.json).

import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

const modules = process.env.UMA_INTEROP_NODE_MODULES
const require = createRequire(pathToFileURL(`${modules}/`))
globalThis.XMLHttpRequest = require('xhr2')
const { default: KeycloakAuthorization } = await import(pathToFileURL(`${modules}/keycloak-js/lib/keycloak-authz.js`))

function challengeTicket (response) {
  const header = response.headers.get('www-authenticate') || ''
  if (!/^\s*uma\s/i.test(header)) return null
  const m = header.match(/ticket="([^"]*)"/)
  return m ? m[1] : null
}

async function main () {
  const [resource, userToken] = process.argv.slice(2)
  const issuer = new URL(process.env.UMA_INTEROP_AS.replace(/\/$/, ''))
  const realm = issuer.pathname.split('/').pop()
  let response = await fetch(resource)
  const ticket = response.status === 401 ? challengeTicket(response) : null
  if (ticket) {
    const keycloak = {
      didInitialize: true,
      authServerUrl: issuer.origin,
      realm,
      clientId: process.env.UMA_INTEROP_CLIENT_ID,
      token: userToken
    }
    const authz = new KeycloakAuthorization(keycloak)
    let rpt
    try {
      rpt = await new Promise((resolve, reject) => {
        authz.authorize({ ticket }).then(resolve, () => reject(new Error('denied')), (e) => reject(e || new Error('error')))
      })
    } catch (e) {
      console.log(`error: ${e.message}`)
      return 1
    }
    response = await fetch(resource, { headers: { Authorization: `Bearer ${rpt}` } })
  }
  console.log(response.status)
  console.log((await response.text()).slice(0, 200))
  return response.ok ? 0 : 1
}

process.exitCode = await main()
