// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/**
 * @title BscUsdClone
 * @notice Devnet stand-in for BSC-USD (Binance-Peg USDT on BNB Smart Chain, 0x55d398326f99059fF775485246999027B3197955):
 * a standard ERC-20 that returns `bool` and, unlike USDT on Ethereum, has 18 decimals.
 */
contract BscUsdClone is ERC20, Ownable {
    constructor() ERC20("Binance-Peg BSC-USD", "BSC-USD") Ownable(msg.sender) {}

    /// @notice BEP-20 owner getter, as on the real token.
    function getOwner() external view returns (address) {
        return owner();
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
