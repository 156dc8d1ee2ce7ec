import Logging
package import WeftCore

/// One page of a SOQL result: `{"totalSize","done","nextRecordsUrl","records"}`.
package struct SalesforceQueryPage: Sendable, Hashable {
    package var records: [SalesforceRecord]
    /// Rows the whole query matches.
    package var totalSize: Int
    /// `true` on the last page.
    package var done: Bool
    /// The path of the next page (`/services/data/v62.0/query/01g…-2000`), `nil` on the last page.
    package var nextRecordsURL: String?

    package init(records: [SalesforceRecord], totalSize: Int, done: Bool, nextRecordsURL: String?) {
        self.records = records
        self.totalSize = totalSize
        self.done = done
        self.nextRecordsURL = nextRecordsURL
    }

    package init(json: JSONValue) {
        let done = json["done"]?.boolValue ?? true
        self.init(
            records: (json["records"]?.arrayValue ?? []).compactMap { SalesforceRecord(json: $0) },
            totalSize: Int(json["totalSize"]?.intValue ?? 0), done: done,
            nextRecordsURL: done ? nil : json["nextRecordsUrl"]?.stringValue)
    }
}

/// The pages of one query, fetched lazily: `for try await page in client.queryPages(soql, logger: logger)`.
package struct SalesforceQueryPages: AsyncSequence, Sendable {
    package typealias Element = SalesforceQueryPage
    package typealias Failure = SalesforceAPIError

    let client: SalesforceClient
    let soql: SalesforceSOQL
    let includeDeleted: Bool
    let logger: Logger

    package func makeAsyncIterator() -> Iterator { Iterator(pages: self) }

    package struct Iterator: AsyncIteratorProtocol {
        private enum State {
            case start
            case after(SalesforceQueryPage)
            case finished
        }

        private let pages: SalesforceQueryPages
        private var state = State.start

        init(pages: SalesforceQueryPages) { self.pages = pages }

        package mutating func next() async throws(SalesforceAPIError) -> SalesforceQueryPage? {
            let page: SalesforceQueryPage?
            do {
                switch state {
                case .start:
                    page = try await pages.client.queryPage(
                        pages.soql, includeDeleted: pages.includeDeleted, logger: pages.logger)
                case .after(let previous):
                    page = try await pages.client.nextPage(after: previous, logger: pages.logger)
                case .finished:
                    return nil
                }
            } catch {
                state = .finished
                throw error
            }
            state = page.map(State.after) ?? .finished
            return page
        }

        package mutating func next(isolation actor: isolated (any Actor)?) async throws(SalesforceAPIError)
            -> SalesforceQueryPage?
        {
            try await next()
        }
    }
}
