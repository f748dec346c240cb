import Dispatch
import NIOCore
import SwitchyardIO

/// Opens connections to backends on the caller's event loop, with the pool's connect timeout.
enum UpstreamConnector {
    /// Calls `completion` on `loop` with the connected connection or the error (never from inside this
    /// call). A backend given by name is resolved off the loop, once per slot; an address needs none.
    static func connect(
        _ slot: BackendSlot, on loop: EpollEventLoop, timeout: TimeAmount,
        completion: @escaping (Result<UpstreamConnection, any Error>) -> Void
    ) {
        if let address = slot.resolvedAddress {
            SocketConnector.connect(to: address, on: loop, timeout: timeout) { result in
                completion(result.map { UpstreamConnection(slot: slot, connection: $0) })
            }
            return
        }
        let host = slot.host
        let port = slot.port
        let deadline = NIODeadline.now() + timeout
        let callback = NIOLoopBound((slot, completion), eventLoop: loop)
        DispatchQueue.global().async {
            let resolved = Result { try SocketAddress.makeAddressResolvingHost(host, port: port) }
            loop.execute {
                let (slot, completion) = callback.value
                switch resolved {
                case .success(let address):
                    slot.resolvedAddress = address
                    connect(slot, on: loop, timeout: max(.zero, deadline - .now()), completion: completion)
                case .failure(let error):
                    completion(.failure(error))
                }
            }
        }
    }
}
