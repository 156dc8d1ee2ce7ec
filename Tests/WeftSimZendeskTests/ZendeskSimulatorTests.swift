import Testing
import WeftSimZendesk

@Suite struct ZendeskSimulatorTests {
    @Test func starts() {
        _ = ZendeskSimulator()
    }
}
