import Testing

@testable import WeftSimStripe

@Suite struct FormParamsTests {
    @Test func decodesBracketSyntax() throws {
        let params = FormParams(
            encoded: "email=ada%40example.com&metadata[plan]=pro&metadata[note]=a+b&items[0][price]=p1"
                + "&items[1][price]=p2&items[1][quantity]=3&expand[]=customer&expand[]=latest_invoice")
        #expect(params["email"]?.string == "ada@example.com")
        let metadata = try #require(params["metadata"]?.members)
        #expect(metadata.map(\.0) == ["plan", "note"])
        #expect(params["metadata"]?["note"]?.string == "a b")
        let items = try #require(params["items"]?.elements)
        #expect(items.count == 2)
        #expect(items[1]["quantity"]?.string == "3")
        #expect(try params.root.stringList("expand") == ["customer", "latest_invoice"])
    }

    @Test func indexedListsSortNumerically() {
        let params = FormParams(encoded: "items[10][price]=b&items[2][price]=a")
        #expect(params["items"]?.elements?.compactMap { $0["price"]?.string } == ["a", "b"])
    }

    @Test func emptyMetadataValueUnsetsKey() throws {
        var object: JSON = ["metadata": ["a": "1", "b": "2"]]
        try FormParams(encoded: "metadata[a]=").root.applyMetadata(to: &object)
        #expect(object["metadata"] == ["b": "2"])
    }
}

@Suite struct SignatureTests {
    @Test func matchesReferenceVector() {
        let body = Array(#"{"id":"evt_test_001","object":"event","type":"invoice.paid"}"#.utf8)
        let signature = WebhookSignature.sign(body: body, timestamp: 1_700_000_000, secret: "whsec_test_secret_0123456789")
        #expect(signature == "916753b40ba210e72a882b662b932d3b50f5d63663d3fd1fbdbc7aa1c46f78d7")
        #expect(hmacHex(secret: "whsec_test_secret_0123456789", timestamp: "1700000000", body: body) == signature)
        let header = WebhookSignature.header(
            body: body, timestamp: 1_700_000_000,
            secrets: ["whsec_test_secret_0123456789", "whsec_old_secret_abcdef"])
        #expect(
            header == "t=1700000000,v1=916753b40ba210e72a882b662b932d3b50f5d63663d3fd1fbdbc7aa1c46f78d7,"
                + "v1=5fa0a427dbfce06fc0309782049bffab45e23919ab7ccb372742c2c586c8dc92")
    }
}
