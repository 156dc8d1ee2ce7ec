import Testing
import WeftSimFreshdesk

@Suite struct FreshdeskSimulatorTests {
    @Test func starts() {
        _ = FreshdeskSimulator()
    }
}
