import SwitchyardAPI
import SwitchyardCore
import Testing

@testable import SwitchyardControl

/// Every enum shared by openapi.yaml and the core converts both ways, case for case, and keeps its wire
/// value (the exhaustive switches make a missing case a build error; these catch a case mapped to the
/// wrong partner).
@Suite struct EnumMappingTests {
    /// Each core case goes to the API case of the same wire value and back, and each API case likewise.
    func checkRoundTrip<Core, API>(
        _ toAPI: (Core) -> API, _ toCore: (API) -> Core, sourceLocation: SourceLocation = #_sourceLocation
    )
    where
        Core: CaseIterable & Equatable & RawRepresentable<String>,
        API: CaseIterable & Equatable & RawRepresentable<String>
    {
        #expect(Core.allCases.count == API.allCases.count, "case counts differ", sourceLocation: sourceLocation)
        for core in Core.allCases {
            let api = toAPI(core)
            #expect(api.rawValue == core.rawValue, "\(core) maps to \(api)", sourceLocation: sourceLocation)
            #expect(toCore(api) == core, sourceLocation: sourceLocation)
        }
        for api in API.allCases {
            let core = toCore(api)
            #expect(core.rawValue == api.rawValue, "\(api) maps to \(core)", sourceLocation: sourceLocation)
            #expect(toAPI(core) == api, sourceLocation: sourceLocation)
        }
    }

    @Test func poolProtocol() { checkRoundTrip(Schemas.PoolProtocol.init, PoolProtocol.init) }
    @Test func algorithm() { checkRoundTrip(Schemas.Algorithm.init, BalancingAlgorithm.init) }
    @Test func poolMode() { checkRoundTrip(Schemas.PoolMode.init, PoolMode.init) }
    @Test func healthCheckType() { checkRoundTrip(Schemas.HealthCheckType.init, HealthCheckType.init) }
    @Test func adminState() { checkRoundTrip(Schemas.AdminState.init, AdminState.init) }
    @Test func backendHealthStatus() {
        checkRoundTrip(
            Schemas.BackendHealth.StatusPayload.init,
            { (api: Schemas.BackendHealth.StatusPayload) in HealthStatus(api) })
    }
    @Test func instanceBackendHealthStatus() {
        checkRoundTrip(
            Schemas.InstanceBackendHealth.StatusPayload.init,
            { (api: Schemas.InstanceBackendHealth.StatusPayload) in HealthStatus(api) })
    }
    @Test func listenerProtocol() { checkRoundTrip(Schemas.ListenerProtocol.init, ListenerProtocol.init) }
    @Test func changeAction() { checkRoundTrip(Schemas.ChangeAction.init, ChangeAction.init) }
    @Test func resourceKind() { checkRoundTrip(Schemas.ResourceType.init, ResourceKind.init) }
    @Test func scope() { checkRoundTrip(Schemas.Scope.init, Scope.init) }
}
