// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/**
 * @title UsdCoinClone
 * @notice Devnet stand-in for Circle's USDC (FiatToken): a standard ERC-20 that returns `bool`, 6 decimals,
 * owner-minted, with Circle-style blacklisting: a blacklisted account can neither send nor receive, nor
 * approve / be approved, nor spend an allowance. Circle's separate minter/blacklister/pauser roles are folded
 * into the owner; pausing is not reproduced.
 * @dev Like FiatToken v2.2, the blacklist flag lives in the top bit of the account's balance slot, so checking
 * a recipient costs no extra cold storage read (about 2,100 gas per transfer to a new address). OpenZeppelin's
 * ERC20 keeps allowances, metadata, events and errors; balances and supply are kept here via `_update`.
 */
contract UsdCoinClone is ERC20, Ownable {
    uint256 private constant BLACKLIST_FLAG = 1 << 255;
    /// @dev Balances can never reach the flag bit: the total supply is capped below it.
    uint256 private constant MAX_SUPPLY = BLACKLIST_FLAG - 1;

    mapping(address account => uint256) private _balanceAndBlacklistState;
    uint256 private _supply;

    event Blacklisted(address indexed account);
    event UnBlacklisted(address indexed account);

    error AccountBlacklisted(address account);
    error SupplyCapExceeded(uint256 supply, uint256 minted);

    constructor() ERC20("USD Coin", "USDC") Ownable(msg.sender) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function totalSupply() public view override returns (uint256) {
        return _supply;
    }

    function balanceOf(address account) public view override returns (uint256) {
        return _balanceAndBlacklistState[account] & MAX_SUPPLY;
    }

    function isBlacklisted(address account) public view returns (bool) {
        return _balanceAndBlacklistState[account] & BLACKLIST_FLAG != 0;
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    function blacklist(address account) external onlyOwner {
        _balanceAndBlacklistState[account] |= BLACKLIST_FLAG;
        emit Blacklisted(account);
    }

    function unBlacklist(address account) external onlyOwner {
        _balanceAndBlacklistState[account] &= MAX_SUPPLY;
        emit UnBlacklisted(account);
    }

    function approve(address spender, uint256 value) public override returns (bool) {
        _requireNotBlacklisted(msg.sender);
        _requireNotBlacklisted(spender);
        return super.approve(spender, value);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        _requireNotBlacklisted(msg.sender);
        return super.transferFrom(from, to, value);
    }

    /// @dev Every balance change (transfer, transferFrom, mint) goes through here; there is no burn.
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0)) {
            if (value > MAX_SUPPLY - _supply) revert SupplyCapExceeded(_supply, value);
            _supply += value;
        } else {
            uint256 fromState = _balanceAndBlacklistState[from];
            if (fromState & BLACKLIST_FLAG != 0) revert AccountBlacklisted(from);
            if (fromState < value) revert ERC20InsufficientBalance(from, fromState, value);
            unchecked {
                _balanceAndBlacklistState[from] = fromState - value;
            }
        }
        if (to == address(0)) revert ERC20InvalidReceiver(to);
        uint256 toState = _balanceAndBlacklistState[to];
        if (toState & BLACKLIST_FLAG != 0) revert AccountBlacklisted(to);
        unchecked {
            // Cannot reach the flag bit: every balance is at most the supply, which is capped below it.
            _balanceAndBlacklistState[to] = toState + value;
        }
        emit Transfer(from, to, value);
    }

    function _requireNotBlacklisted(address account) private view {
        if (isBlacklisted(account)) revert AccountBlacklisted(account);
    }
}
