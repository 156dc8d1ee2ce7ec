import Testing

@testable import WeftServer

@Suite("Admin bearer tokens")
struct AdminTokenTests {
    @Test func theBearerSchemeIsReadInAnyCaseWithSpacesAroundTheToken() {
        #expect(AdminRoutes.bearerToken("Bearer abc") == Array("abc".utf8))
        #expect(AdminRoutes.bearerToken("bearer   abc  ") == Array("abc".utf8))
        #expect(AdminRoutes.bearerToken("BEARER abc") == Array("abc".utf8))
        #expect(AdminRoutes.bearerToken("Bearer ") == nil)
        #expect(AdminRoutes.bearerToken("Basic YWJj") == nil)
        #expect(AdminRoutes.bearerToken("Bearerabc") == nil)
    }

    @Test func digestsAreComparedWholly() {
        let token = AdminRoutes.Token(name: "t", value: "secret", scopes: ["read"])
        let same = AdminRoutes.Token(name: "u", value: "secret", scopes: [])
        let other = AdminRoutes.Token(name: "v", value: "secreT", scopes: [])
        #expect(AdminRoutes.constantTimeEquals(digest: token.digest, same.digest))
        #expect(!AdminRoutes.constantTimeEquals(digest: token.digest, other.digest))
        #expect(!AdminRoutes.constantTimeEquals(digest: token.digest, Array(token.digest.dropLast())))
    }

    @Test func operateImpliesReadAndAdminImpliesBoth() {
        #expect(AdminRoutes.implied["read"] == ["read", "operate", "admin"])
        #expect(AdminRoutes.implied["operate"] == ["operate", "admin"])
        #expect(AdminRoutes.implied["admin"] == ["admin"])
    }
}
