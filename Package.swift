// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "weft",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "weft", targets: ["weft"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.24.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.24.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.25.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
    ],
    targets: [
        // Canonical model, typed ids, money, ownership, pipeline stages, delivery state machines. No I/O.
        .target(
            name: "WeftCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // XML-RPC value codec shared by the Odoo client and the Odoo simulator. No I/O.
        .target(name: "WeftXMLRPC", dependencies: ["WeftCore"], swiftSettings: swiftSettings),
        // The embedded GRDB store.
        .target(
            name: "WeftStoreSQLite",
            dependencies: [
                "WeftCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL store, for many nodes on one database.
        .target(
            name: "WeftStorePostgres",
            dependencies: [
                "WeftCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Shared HTTP client plumbing and one folder per external system.
        .target(
            name: "WeftConnectors",
            dependencies: [
                "WeftCore",
                "WeftXMLRPC",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Pieces every simulator shares: fault injection, request log, HTTP helpers.
        .target(
            name: "WeftSimKit",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Stateful Odoo simulator: JSON-2, JSON-RPC and XML-RPC over one shared state.
        .target(
            name: "WeftSimOdoo",
            dependencies: [
                "WeftCore",
                "WeftSimKit",
                "WeftXMLRPC",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        // Stateful Stripe simulator: form-encoded API, idempotency, events, signed webhooks.
        .target(
            name: "WeftSimStripe",
            dependencies: [
                "WeftSimKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Stateful Zendesk Support simulator: organizations, users, tickets, cursor pagination, signed webhooks.
        .target(
            name: "WeftSimZendesk",
            dependencies: [
                "WeftSimKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Stateful HubSpot CRM simulator: companies, contacts, deals, line items, batch and search APIs,
        // associations v4, v3-signed webhooks, rate limits.
        .target(
            name: "WeftSimHubSpot",
            dependencies: [
                "WeftSimKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Stateful Salesforce simulator: OAuth (JWT bearer, client credentials), sObjects, SOQL, sObject
        // Collections, upsert by external id, limits, SOAP Outbound Messages.
        .target(
            name: "WeftSimSalesforce",
            dependencies: [
                "WeftSimKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Stateful Freshdesk simulator: companies, contacts, tickets, page links, automation webhooks.
        .target(
            name: "WeftSimFreshdesk",
            dependencies: [
                "WeftSimKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        // Stateful Chargebee simulator: customers, subscriptions, invoices, payments, credit notes, events, webhooks.
        .target(
            name: "WeftSimChargebee",
            dependencies: [
                "WeftSimKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        // Long-running services and the composition root.
        .target(
            name: "WeftRuntime",
            dependencies: [
                "WeftCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTTP surface (webhooks, admin API, health, metrics) and the composition root that wires store, connectors and
        // runtime services into one ServiceGroup.
        .target(
            name: "WeftServer",
            dependencies: [
                "WeftCore",
                "WeftRuntime",
                "WeftConnectors",
                "WeftStoreSQLite",
                "WeftStorePostgres",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Demo story, benchmark and crash-test drivers (they combine server, runtime and simulators).
        .target(
            name: "WeftTools",
            dependencies: [
                "WeftCore",
                "WeftConnectors",
                "WeftRuntime",
                "WeftServer",
                "WeftSimOdoo",
                "WeftSimStripe",
                "WeftSimZendesk",
                "WeftSimFreshdesk",
                "WeftSimChargebee",
                "WeftSimHubSpot",
                "WeftSimSalesforce",
                "WeftSimKit",
                "WeftStoreSQLite",
                "WeftStorePostgres",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "weft",
            dependencies: [
                "WeftCore",
                "WeftRuntime",
                "WeftServer",
                "WeftTools",
                "WeftSimKit",
                "WeftSimOdoo",
                "WeftSimStripe",
                "WeftSimZendesk",
                "WeftSimFreshdesk",
                "WeftSimChargebee",
                "WeftSimHubSpot",
                "WeftSimSalesforce",
                "WeftStoreSQLite",
                "WeftStorePostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                "WeftConnectors",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftCoreTests",
            dependencies: ["WeftCore", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "WeftXMLRPCTests", dependencies: ["WeftXMLRPC", "WeftCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "WeftStoreTests",
            dependencies: [
                "WeftStoreSQLite", "WeftStorePostgres", "WeftCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftConnectorsTests",
            dependencies: [
                "WeftConnectors", "WeftCore", "WeftSimOdoo", "WeftSimStripe", "WeftSimKit", "WeftXMLRPC",
                "WeftSimZendesk", "WeftSimFreshdesk", "WeftSimChargebee", "WeftSimHubSpot", "WeftSimSalesforce",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftSimOdooTests",
            dependencies: [
                "WeftSimOdoo", "WeftSimKit", "WeftXMLRPC",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            exclude: ["KnownCorpusGaps.txt"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftSimStripeTests",
            dependencies: [
                "WeftSimStripe", "WeftSimKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftSimZendeskTests",
            dependencies: [
                "WeftSimZendesk", "WeftSimKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftSimHubSpotTests",
            dependencies: [
                "WeftSimHubSpot", "WeftSimKit", "WeftConnectors", "WeftCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftSimSalesforceTests",
            dependencies: [
                "WeftSimSalesforce", "WeftSimKit", "WeftConnectors", "WeftCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftSimFreshdeskTests",
            dependencies: [
                "WeftSimFreshdesk", "WeftSimKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftSimChargebeeTests",
            dependencies: [
                "WeftSimChargebee", "WeftSimKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftRuntimeTests",
            dependencies: [
                "WeftRuntime", "WeftCore", "WeftStoreSQLite", "WeftConnectors",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftServerTests",
            dependencies: [
                "WeftServer", "WeftRuntime", "WeftCore", "WeftStoreSQLite", "WeftStorePostgres", "WeftTools",
                "WeftSimOdoo", "WeftSimStripe", "WeftSimKit", "WeftConnectors",
                "WeftSimZendesk", "WeftSimFreshdesk", "WeftSimChargebee", "WeftSimHubSpot", "WeftSimSalesforce",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
