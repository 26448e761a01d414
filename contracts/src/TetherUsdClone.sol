// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title TetherUsdClone
 * @notice Devnet stand-in for mainnet USDT (TetherToken at 0xdAC17F958D2ee523a2206206994597C13D831ec7).
 * Written by hand, not on top of OpenZeppelin's ERC20, because it reproduces the quirks that integrations
 * have to survive:
 *  - `transfer`, `transferFrom` and `approve` return nothing (no `bool`), so callers expecting a return value
 *    fail to decode the result; use SafeERC20-style calls.
 *  - `approve` from a non-zero allowance to another non-zero allowance reverts (set it to 0 first).
 *  - an allowance of type(uint256).max is never decreased by `transferFrom`.
 *  - `decimals` is a `uint256` (mainnet declares `uint public decimals`), not a `uint8`.
 *  - the owner can pause all transfers and blacklist senders; a blacklisted account cannot send
 *    (`transfer` checks the caller, `transferFrom` checks `from`) but can still receive.
 *  - `issue` mints to the owner and emits `Issue`, not `Transfer` (as on mainnet).
 * Not reproduced: the transfer fee (zero on mainnet), deprecation/upgrade forwarding, `redeem`,
 * `destroyBlackFunds` and the short-address payload check.
 */
contract TetherUsdClone {
    string public name = "Tether USD";
    string public symbol = "USDT";
    uint256 public decimals = 6;
    uint256 public totalSupply;
    address public owner;
    bool public paused;

    mapping(address account => uint256) public balanceOf;
    mapping(address account => mapping(address spender => uint256)) public allowance;
    mapping(address account => bool) public isBlackListed;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event Pause();
    event Unpause();
    event AddedBlackList(address user);
    event RemovedBlackList(address user);
    event Issue(uint256 amount);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner(address caller);
    error TransfersPaused();
    error SenderBlackListed(address account);
    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    error InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
    error NonZeroAllowance(address spender, uint256 allowance);
    error ZeroAddress();

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier whenNotPaused() {
        if (paused) revert TransfersPaused();
        _;
    }

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    /// @notice Returns nothing, like mainnet USDT.
    function transfer(address to, uint256 value) external whenNotPaused {
        if (isBlackListed[msg.sender]) revert SenderBlackListed(msg.sender);
        _move(msg.sender, to, value);
    }

    /// @notice Returns nothing, like mainnet USDT. Only `from` is checked against the blacklist.
    function transferFrom(address from, address to, uint256 value) external whenNotPaused {
        if (isBlackListed[from]) revert SenderBlackListed(from);
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) revert InsufficientAllowance(msg.sender, allowed, value);
            unchecked {
                allowance[from][msg.sender] = allowed - value;
            }
        }
        _move(from, to, value);
    }

    /// @notice Returns nothing, like mainnet USDT; changing a non-zero allowance to a non-zero value reverts.
    function approve(address spender, uint256 value) external {
        uint256 current = allowance[msg.sender][spender];
        if (value != 0 && current != 0) revert NonZeroAllowance(spender, current);
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
    }

    function pause() external onlyOwner {
        paused = true;
        emit Pause();
    }

    function unpause() external onlyOwner {
        paused = false;
        emit Unpause();
    }

    function addBlackList(address user) external onlyOwner {
        isBlackListed[user] = true;
        emit AddedBlackList(user);
    }

    function removeBlackList(address user) external onlyOwner {
        isBlackListed[user] = false;
        emit RemovedBlackList(user);
    }

    /// @notice Mints `amount` to the owner. Emits only `Issue`, as mainnet USDT does.
    function issue(uint256 amount) external onlyOwner {
        balanceOf[owner] += amount;
        totalSupply += amount;
        emit Issue(amount);
    }

    /// @notice Devnet faucet helper (not on mainnet): mints to `to` and emits `Transfer(0, to, amount)`.
    function mint(address to, uint256 amount) external onlyOwner {
        if (to == address(0)) revert ZeroAddress();
        balanceOf[to] += amount;
        totalSupply += amount;
        emit Transfer(address(0), to, amount);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function _move(address from, address to, uint256 value) private {
        uint256 fromBalance = balanceOf[from];
        if (fromBalance < value) revert InsufficientBalance(from, fromBalance, value);
        unchecked {
            balanceOf[from] = fromBalance - value;
        }
        // Cannot overflow: the sum of all balances is totalSupply, which is checked on mint.
        unchecked {
            balanceOf[to] += value;
        }
        emit Transfer(from, to, value);
    }
}
