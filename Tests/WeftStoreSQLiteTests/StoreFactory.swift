import Foundation
import Logging
import Testing
import WeftCore
import WeftStoreSQLite

/// A store under test, with what the conformance suite needs to see beyond the `Store` protocol.
struct StoreUnderTest: Sendable {
    let store: any Store
    /// How many append transactions the store ran so far (to see group commit at work).
    let appendTransactions: @Sendable () -> Int
}

/// Makes a fresh, empty store. The conformance suite runs every test once per factory in `all`; the PostgreSQL store
/// joins by adding its factory there.
struct StoreFactory: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () async throws -> StoreUnderTest

    var testDescription: String { name }

    static let sqlite = StoreFactory(name: "SQLite") {
        let store = try SQLiteStore.temporary(logger: Logger(label: "weft.test.store"))
        return StoreUnderTest(store: store, appendTransactions: { store.appendTransactions })
    }

    static let all: [StoreFactory] = [.sqlite]
}
