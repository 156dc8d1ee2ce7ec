import Foundation
import Testing
import WeftConnectors

@Suite("Stripe webhook signatures")
struct StripeWebhookVerifierTests {
    static let secret = "whsec_test_secret_0123456789"
    static let oldSecret = "whsec_old_secret_abcdef"
    static let body = Data(#"{"id":"evt_test_001","object":"event","type":"invoice.paid"}"#.utf8)
    static let timestamp: Int64 = 1_700_000_000
    static let currentSignature = "916753b40ba210e72a882b662b932d3b50f5d63663d3fd1fbdbc7aa1c46f78d7"
    static let oldSignature = "5fa0a427dbfce06fc0309782049bffab45e23919ab7ccb372742c2c586c8dc92"
    static let rotationHeader = "t=1700000000,v1=\(currentSignature),v1=\(oldSignature)"
    static let now = Date(timeIntervalSince1970: 1_700_000_010)

    func code(_ verifier: StripeWebhookVerifier, _ header: String?, body: Data = Self.body, now: Date = Self.now)
        -> StripeWebhookError.Code?
    {
        do {
            try verifier.verify(payload: body, signatureHeader: header, now: now)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func acceptsTheReferenceVectors() throws {
        let current = StripeWebhookVerifier(secret: Self.secret)
        let old = StripeWebhookVerifier(secret: Self.oldSecret)
        #expect(
            try current.verify(payload: Self.body, signatureHeader: "t=1700000000,v1=\(Self.currentSignature)", now: Self.now)
                == Self.timestamp)
        #expect(code(old, "t=1700000000,v1=\(Self.oldSignature)") == nil)
        #expect(code(current, "t=1700000000,v1=\(Self.oldSignature)") == .noMatchingSignature)
    }

    @Test func acceptsARotationHeaderWithAnyConfiguredSecret() {
        #expect(code(StripeWebhookVerifier(secret: Self.secret), Self.rotationHeader) == nil)
        #expect(code(StripeWebhookVerifier(secret: Self.oldSecret), Self.rotationHeader) == nil)
        // A verifier that holds a rolled secret too accepts a header signed only with the old one.
        let rolling = StripeWebhookVerifier(secrets: [Self.secret, Self.oldSecret])
        #expect(code(rolling, "t=1700000000,v1=\(Self.oldSignature)") == nil)
        #expect(code(rolling, "t=1700000000,v1=\(Self.currentSignature)") == nil)
        #expect(code(StripeWebhookVerifier(secrets: ["whsec_other"]), Self.rotationHeader) == .noMatchingSignature)
    }

    @Test func signerProducesTheReferenceHeaders() {
        #expect(
            StripeWebhookSigner(secret: Self.secret).signatureHeader(payload: Self.body, timestamp: Self.timestamp)
                == "t=1700000000,v1=\(Self.currentSignature)")
        #expect(
            StripeWebhookSigner(secrets: [Self.secret, Self.oldSecret]).signatureHeader(
                payload: Self.body, at: Date(timeIntervalSince1970: 1_700_000_000.9)) == Self.rotationHeader)
    }

    @Test func rejectsAMissingHeader() {
        #expect(code(StripeWebhookVerifier(secret: Self.secret), nil) == .missingHeader)
    }

    @Test(arguments: [
        "", "v1=\(currentSignature)", "t=,v1=\(currentSignature)", "t=abc,v1=\(currentSignature)",
        "t,v1=\(currentSignature)", "t=1700000000,v1", "t=17000000000000000000000,v1=\(currentSignature)",
    ])
    func rejectsMalformedHeaders(_ header: String) {
        #expect(code(StripeWebhookVerifier(secret: Self.secret), header) == .malformedHeader)
    }

    @Test func rejectsHeadersWithoutV1() {
        let verifier = StripeWebhookVerifier(secret: Self.secret)
        #expect(code(verifier, "t=1700000000,v0=\(Self.currentSignature)") == .noV1Signature)
        #expect(code(verifier, "t=1700000000") == .noV1Signature)
        // Other schemes are ignored next to a valid v1.
        #expect(code(verifier, "t=1700000000,v0=deadbeef,v1=\(Self.currentSignature),x=1") == nil)
    }

    @Test func rejectsWrongSignaturesAndTamperedBodies() {
        let verifier = StripeWebhookVerifier(secret: Self.secret)
        #expect(code(verifier, "t=1700000000,v1=\(String(repeating: "0", count: 64))") == .noMatchingSignature)
        #expect(code(verifier, "t=1700000000,v1=\(Self.currentSignature.uppercased())") == .noMatchingSignature)
        #expect(code(verifier, "t=1700000001,v1=\(Self.currentSignature)") == .noMatchingSignature)
        var tampered = Self.body
        tampered[tampered.count - 3] = UInt8(ascii: "x")
        #expect(code(verifier, "t=1700000000,v1=\(Self.currentSignature)", body: tampered) == .noMatchingSignature)
        // The secret is the whole string: without the `whsec_` prefix it is another key.
        let unprefixed = StripeWebhookVerifier(secret: "test_secret_0123456789")
        #expect(code(unprefixed, "t=1700000000,v1=\(Self.currentSignature)") == .noMatchingSignature)
    }

    @Test func enforcesTheToleranceOnPastTimestampsOnly() {
        let verifier = StripeWebhookVerifier(secret: Self.secret)
        let header = "t=1700000000,v1=\(Self.currentSignature)"
        #expect(code(verifier, header, now: Date(timeIntervalSince1970: 1_700_000_300)) == nil)
        #expect(code(verifier, header, now: Date(timeIntervalSince1970: 1_700_000_301)) == .timestampOutsideTolerance)
        // Like stripe-python, a timestamp in the future is not rejected.
        #expect(code(verifier, header, now: Date(timeIntervalSince1970: 1_699_990_000)) == nil)
        // A custom tolerance; zero disables the check.
        #expect(code(StripeWebhookVerifier(secret: Self.secret, tolerance: .seconds(5)), header) == .timestampOutsideTolerance)
        #expect(
            code(StripeWebhookVerifier(secret: Self.secret, tolerance: .zero), header, now: Date(timeIntervalSince1970: 1_800_000_000))
                == nil)
        // The signature is checked before the timestamp, as in stripe-python.
        #expect(
            code(verifier, "t=1700000000,v1=\(String(repeating: "a", count: 64))", now: Date(timeIntervalSince1970: 1_800_000_000))
                == .noMatchingSignature)
    }

    @Test func parsesTheTimestampLikePythonInt() {
        let verifier = StripeWebhookVerifier(secret: Self.secret)
        #expect(code(verifier, "t= 1700000000 ,v1=\(Self.currentSignature)") == nil)
        #expect(code(verifier, "t=\t\u{0b}1700000000\u{0c}\r\n,v1=\(Self.currentSignature)") == nil)
        #expect(code(verifier, "t=\u{08}1700000000,v1=\(Self.currentSignature)") == .malformedHeader)
        #expect(code(verifier, "t=+1700000000,v1=\(Self.currentSignature)") == nil)
        #expect(code(verifier, "t=1_700_000_000,v1=\(Self.currentSignature)") == nil)
        #expect(code(verifier, "t=1__700000000,v1=\(Self.currentSignature)") == .malformedHeader)
        // The first `t` wins; the value ends at a second `=`.
        #expect(code(verifier, "t=1700000000,t=5,v1=\(Self.currentSignature)=trailing") == nil)
    }

    @Test func errorsAndDescriptionsNeverLeakSecretsOrBodies() {
        let verifier = StripeWebhookVerifier(secrets: [Self.secret, Self.oldSecret])
        #expect(!verifier.description.contains("whsec"))
        #expect(!StripeWebhookSigner(secret: Self.secret).description.contains("whsec"))
        for header in [nil, "garbage", "t=1700000000", "t=1700000000,v1=\(Self.oldSignature.dropLast())0"] {
            do {
                try verifier.verify(payload: Self.body, signatureHeader: header, now: Self.now)
                Issue.record("expected a rejection")
            } catch {
                for text in [error.description, error.debugDescription, String(describing: error)] {
                    #expect(!text.contains("whsec"))
                    #expect(!text.contains("evt_test_001"))
                    #expect(!text.contains(Self.oldSignature.prefix(16)))
                }
            }
        }
        let codes: Set<String> = [
            StripeWebhookError.Code.missingHeader, .malformedHeader, .noV1Signature, .timestampOutsideTolerance,
            .noMatchingSignature,
        ].reduce(into: []) { $0.insert($1.description) }
        #expect(codes.count == 5)
    }
}
