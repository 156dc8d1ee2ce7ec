package import Foundation
package import Logging
import NIOHTTP1
import WeftCore
import _CryptoExtras

/// An access token and the instance it is valid for.
package struct SalesforceAccessToken: Sendable, Hashable, CustomStringConvertible {
    /// The bearer token. Never logged.
    package var accessToken: String
    /// Where API calls go (`instance_url`), e.g. `https://acme.my.salesforce.com`.
    package var instanceURL: String

    package init(accessToken: String, instanceURL: String) {
        self.accessToken = accessToken
        self.instanceURL = instanceURL
    }

    /// Without the token.
    package var description: String { "SalesforceAccessToken(instance_url: \(instanceURL), access_token: <redacted>)" }
}

/// Obtains and caches the org's access token: the JWT bearer flow (RS256 assertion posted to the login host) or the
/// client credentials flow (client id and secret posted to the My Domain host). Concurrent callers share one token
/// request; `invalidate(_:)` after a 401 makes the next caller fetch a new token. Salesforce issues no refresh token
/// for either flow and no expiry: a token lives until the org's session timeout, which shows up as a 401.
package actor SalesforceAuthenticator {
    private typealias Outcome = Result<SalesforceAccessToken, SalesforceAPIError>

    /// The token request in flight and the callers waiting for it.
    private struct Pending {
        var id: UInt64
        var task: Task<Void, Never>
        var waiters: [UInt64: CheckedContinuation<Outcome, Never>] = [:]
    }

    private let configuration: SalesforceConfiguration
    private let http: OutboundHTTPClient
    private let now: @Sendable () -> Date
    private var cached: SalesforceAccessToken?
    private var pending: Pending?
    private var nextID: UInt64 = 0
    /// How many token requests went out (for metrics and tests).
    package private(set) var tokenRequests = 0
    /// Callers waiting for the token request in flight (tests).
    package var waiting: Int { pending?.waiters.count ?? 0 }

    /// - Parameters:
    ///   - now: the clock the JWT `exp` is computed from.
    package init(
        configuration: SalesforceConfiguration, http: OutboundHTTPClient, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.http = http
        self.now = now
    }

    /// The cached token, or a new one; concurrent callers wait for the same token request.
    ///
    /// A caller cancelled while it waits (a graceful shutdown, a delivery stopped) stops waiting at once with a
    /// cancellation, a transient error; the request goes on for the others, and is cancelled only when no caller waits
    /// for it any more (so a shutdown does not wait for a token request to an unreachable org to time out).
    package func token(logger: Logger) async throws(SalesforceAPIError) -> SalesforceAccessToken {
        if let cached { return cached }
        let waiter = nextID
        nextID += 1
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                if pending == nil {
                    let id = nextID
                    nextID += 1
                    pending = Pending(
                        id: id,
                        task: Task {
                            let outcome = await self.requestToken(logger: logger)
                            self.finish(id, outcome)
                        })
                }
                pending?.waiters[waiter] = continuation
            }
        } onCancel: {
            // Runs after the waiter is registered: the actor is held until the continuation is stored.
            Task { await self.abandon(waiter) }
        }
        return try outcome.get()
    }

    /// Hands the outcome of request `id` to everyone waiting for it (and caches a token).
    private func finish(_ id: UInt64, _ outcome: Outcome) {
        guard let request = pending, request.id == id else { return }
        pending = nil
        if case .success(let token) = outcome { cached = token }
        for continuation in request.waiters.values { continuation.resume(returning: outcome) }
    }

    /// A caller stopped waiting: it gets the cancellation; the request is cancelled when nobody waits for it any more.
    private func abandon(_ waiter: UInt64) {
        guard let continuation = pending?.waiters.removeValue(forKey: waiter) else { return }
        continuation.resume(
            returning: .failure(SalesforceAPIError(kind: .cancelled, message: "Salesforce token request cancelled")))
        if let request = pending, request.waiters.isEmpty {
            pending = nil
            request.task.cancel()
        }
    }

    /// Forgets `token` if it is still the cached one (a 401 said it expired or was revoked). Several callers that saw
    /// the same 401 cause one new token request, not one each.
    package func invalidate(_ token: SalesforceAccessToken) {
        if cached == token { cached = nil }
    }

    private func requestToken(logger: Logger) async -> Result<SalesforceAccessToken, SalesforceAPIError> {
        tokenRequests += 1
        let form: [(String, String)]
        let flow: String
        switch configuration.authentication {
        case .jwtBearer(let consumerKey, let username, let privateKeyPEM):
            flow = "JWT bearer"
            let key: _RSA.Signing.PrivateKey
            do {
                key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
            } catch {
                return .failure(
                    SalesforceAPIError(
                        kind: .unauthorized,
                        message:
                            "the Salesforce JWT private key is not a PEM RSA private key of at least 2048 bits: configure "
                            + "the key whose certificate is uploaded to the connected app"))
            }
            let assertion: String
            do {
                assertion = try SalesforceJWT.assertion(
                    consumerKey: consumerKey, username: username, audience: configuration.jwtAudience, privateKey: key,
                    now: now())
            } catch {
                return .failure(SalesforceAPIError(kind: .unauthorized, message: "signing the Salesforce JWT failed"))
            }
            form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)]
        case .clientCredentials(let clientID, let clientSecret):
            flow = "client credentials"
            form = [("grant_type", "client_credentials"), ("client_id", clientID), ("client_secret", clientSecret)]
        }
        let request = OutboundHTTPRequest(
            method: .POST, url: configuration.tokenURL,
            headers: [
                "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
                "User-Agent": "weft-salesforce/1",
            ],
            body: Array(FormEncoding.encode(form).utf8), timeout: configuration.requestTimeout)
        let response: OutboundHTTPResponse
        do {
            response = try await http.send(request, logger: logger)
        } catch {
            return .failure(
                SalesforceAPIError(
                    kind: error.isCancellation ? .cancelled : .transport,
                    message: "Salesforce token request failed: \(error.message)"))
        }
        let json = try? JSONValue.parse(Data(response.body))
        guard response.status == 200 else {
            return .failure(Self.tokenError(status: response.status, json: json, flow: flow, response: response))
        }
        guard let accessToken = json?["access_token"]?.stringValue, !accessToken.isEmpty else {
            return .failure(
                SalesforceAPIError(
                    kind: .invalidResponse, message: "Salesforce token endpoint answered without an access_token",
                    status: response.status))
        }
        let instanceURL = json?["instance_url"]?.stringValue.map(SalesforceConfiguration.trimmed)
        logger.debug(
            "salesforce token issued",
            metadata: ["weft.salesforce.flow": "\(flow)", "weft.salesforce.instance": "\(instanceURL ?? configuration.instanceURL)"])
        return .success(
            SalesforceAccessToken(
                accessToken: accessToken,
                instanceURL: (instanceURL?.isEmpty ?? true) ? configuration.instanceURL : instanceURL!))
    }

    /// Maps `{"error","error_description"}` to a secret-free error that says what to fix.
    static func tokenError(status: Int, json: JSONValue?, flow: String, response: OutboundHTTPResponse)
        -> SalesforceAPIError
    {
        let error = json?["error"]?.stringValue ?? "HTTP \(status)"
        let description = json?["error_description"]?.stringValue ?? ""
        let said = description.isEmpty ? error : "\(error): \(description)"
        if HTTPStatusClass(status: status) == .retryable || error == "unknown_error" {
            return SalesforceAPIError(
                kind: .unavailable, message: "Salesforce token endpoint unavailable (\(said))", status: status,
                retryAfter: response.retryAfter(), codes: [error])
        }
        let lowered = description.lowercased()
        let fix: String
        if lowered.contains("hasn't approved") || lowered.contains("not admin approved") {
            fix =
                "pre-authorize the user on the connected app (OAuth Policies → Permitted Users: Admin approved users "
                + "are pre-authorized, then add the user's profile or a permission set)"
        } else if lowered.contains("audience") {
            fix = "set the login URL to https://login.salesforce.com (production) or https://test.salesforce.com (sandbox)"
        } else if lowered.contains("assertion") || lowered.contains("signature") {
            fix =
                "upload the certificate of the configured private key to the connected app, and check the consumer key "
                + "and the machine clock"
        } else if lowered.contains("client credentials user") {
            fix = "choose a Run As user under the app's Client Credentials Flow policy"
        } else if lowered.contains("not supported on this domain") {
            fix = "set the instance URL to the org's My Domain URL (client credentials only work there)"
        } else if error == "invalid_client_id" || lowered.contains("client identifier") {
            fix = "check the consumer key, and that the app is installed in this org"
        } else if error == "invalid_client" || lowered.contains("client credentials") || lowered.contains("client secret") {
            fix = "check the consumer key and consumer secret"
        } else if error == "unsupported_grant_type" {
            fix = "enable the \(flow) flow on the connected app"
        } else if lowered.contains("inactive") || lowered.contains("locked") || lowered.contains("authentication failure") {
            fix = "check that the integration user exists, is active, not locked and named exactly as configured"
        } else {
            fix = "check the connected app and the integration user"
        }
        return SalesforceAPIError(
            kind: .unauthorized, message: "Salesforce refused the \(flow) token request (\(said)): \(fix)",
            status: status, codes: [error])
    }
}
