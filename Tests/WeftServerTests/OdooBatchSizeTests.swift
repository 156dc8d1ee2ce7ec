import Testing
import WeftCore
import WeftServer

@testable import WeftRuntime

/// `systems.<odoo>.batch_size` is how many commands the node's Odoo dispatcher claims and delivers together.
@Suite("Odoo batch size: the configured size reaches the dispatcher")
struct OdooBatchSizeTests {
    @Test(arguments: [nil, 7])
    func theOdooDispatcherDeliversAsManyCommandsAsConfigured(_ size: Int?) async throws {
        try await TestNode.with(odooBatchSize: size) { node in
            let dispatcher = try #require(node.node.dispatchers["odoo"])
            #expect(dispatcher.connector.maxBatchSize == size ?? 50)
        }
    }
}
