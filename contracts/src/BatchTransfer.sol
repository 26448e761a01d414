// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/**
 * @title BatchTransfer
 * @notice Batch payouts from a hot wallet, all-or-nothing: if any single transfer fails the whole batch reverts.
 * Uses SafeERC20, so tokens whose `transfer`/`transferFrom` return nothing (USDT) work. Holds no funds at rest
 * and has no owner; it emits no events of its own (the token's `Transfer` events are the record).
 */
contract BatchTransfer {
    using SafeERC20 for IERC20;

    error LengthMismatch(uint256 recipients, uint256 amounts);

    /// @notice Pulls `amounts[i]` from the caller to `recipients[i]` for every i (the caller approves this
    /// contract for at least the sum).
    function batchTransfer(address token, address[] calldata recipients, uint256[] calldata amounts) external {
        uint256 count = recipients.length;
        if (count != amounts.length) revert LengthMismatch(count, amounts.length);
        IERC20 erc20 = IERC20(token);
        for (uint256 i; i < count; ++i) {
            erc20.safeTransferFrom(msg.sender, recipients[i], amounts[i]);
        }
    }

    /// @notice Cheaper per item: pulls the sum from the caller in one `transferFrom` (the caller approves this
    /// contract for at least the sum), then pays each recipient with `transfer` from this contract's balance, so
    /// the token does not touch the allowance per item. Funds never stay here between transactions, so nobody
    /// can spend someone else's deposit. Not for fee-on-transfer tokens.
    function batchTransferPooled(address token, address[] calldata recipients, uint256[] calldata amounts)
        external
    {
        uint256 count = recipients.length;
        if (count != amounts.length) revert LengthMismatch(count, amounts.length);
        uint256 total;
        for (uint256 i; i < count; ++i) {
            total += amounts[i];
        }
        IERC20 erc20 = IERC20(token);
        erc20.safeTransferFrom(msg.sender, address(this), total);
        for (uint256 i; i < count; ++i) {
            erc20.safeTransfer(recipients[i], amounts[i]);
        }
    }
}
