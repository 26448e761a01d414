// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice Benchmark fixture, never deployed by the gateway: emits ERC-20 `Transfer` events without
/// keeping balances, so `npm run bench -- deposits` can fill 20,000 blocks with 200,000 transfers cheaply.
contract TransferEventEmitter {
    event Transfer(address indexed from, address indexed to, uint256 value);

    error LengthMismatch(uint256 recipients, uint256 amounts);

    function emitTransfers(address[] calldata recipients, uint256[] calldata amounts) external {
        if (recipients.length != amounts.length) revert LengthMismatch(recipients.length, amounts.length);
        for (uint256 i = 0; i < recipients.length; ++i) {
            emit Transfer(msg.sender, recipients[i], amounts[i]);
        }
    }
}
