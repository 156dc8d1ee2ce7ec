import ArgumentParser

/// `weft`: the integration hub's one executable.
@main
struct Weft: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft",
        abstract: "Weft keeps Stripe and Odoo telling one story: durable webhooks, canonical state, exactly-once effects.",
        subcommands: [
            Serve.self, Check.self, Migrate.self, StoreCommand.self, Demo.self, Simulate.self, DeadLetters.self, Events.self,
            Exceptions.self, Backfill.self, Bench.self,
            CrashTest.self,
        ]
    )
}
