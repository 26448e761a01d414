// GENERATED FILE, DO NOT EDIT. Source: contracts/src/TransferEventEmitter.sol.
// Regenerate with: npm run contracts:build (npx tsx contracts/scripts/compile.ts).
// solc 0.8.37+commit.f401782d.Emscripten.clang, optimizer on (runs 200), evmVersion cancun.
// contracts/test/artifacts.test.ts fails when this file no longer matches the sources.

import type { Abi, Hex } from 'viem'

export const transferEventEmitterAbi = [
  {
    "inputs": [
      {
        "internalType": "uint256",
        "name": "recipients",
        "type": "uint256"
      },
      {
        "internalType": "uint256",
        "name": "amounts",
        "type": "uint256"
      }
    ],
    "name": "LengthMismatch",
    "type": "error"
  },
  {
    "anonymous": false,
    "inputs": [
      {
        "indexed": true,
        "internalType": "address",
        "name": "from",
        "type": "address"
      },
      {
        "indexed": true,
        "internalType": "address",
        "name": "to",
        "type": "address"
      },
      {
        "indexed": false,
        "internalType": "uint256",
        "name": "value",
        "type": "uint256"
      }
    ],
    "name": "Transfer",
    "type": "event"
  },
  {
    "inputs": [
      {
        "internalType": "address[]",
        "name": "recipients",
        "type": "address[]"
      },
      {
        "internalType": "uint256[]",
        "name": "amounts",
        "type": "uint256[]"
      }
    ],
    "name": "emitTransfers",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  }
] as const satisfies Abi

export const transferEventEmitterBytecode = '0x6080604052348015600e575f5ffd5b506102368061001c5f395ff3fe608060405234801561000f575f5ffd5b5060043610610029575f3560e01c80637a1774801461002d575b5f5ffd5b61004061003b366004610153565b610042565b005b828114610070576040516355c5b3e360e11b8152600481018490526024810182905260440160405180910390fd5b5f5b838110156101045784848281811061008c5761008c6101bf565b90506020020160208101906100a191906101d3565b6001600160a01b0316337fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef8585858181106100de576100de6101bf565b905060200201356040516100f491815260200190565b60405180910390a3600101610072565b5050505050565b5f5f83601f84011261011b575f5ffd5b50813567ffffffffffffffff811115610132575f5ffd5b6020830191508360208260051b850101111561014c575f5ffd5b9250929050565b5f5f5f5f60408587031215610166575f5ffd5b843567ffffffffffffffff81111561017c575f5ffd5b6101888782880161010b565b909550935050602085013567ffffffffffffffff8111156101a7575f5ffd5b6101b38782880161010b565b95989497509550505050565b634e487b7160e01b5f52603260045260245ffd5b5f602082840312156101e3575f5ffd5b81356001600160a01b03811681146101f9575f5ffd5b939250505056fea2646970667358221220f626f110234d8f5c8830e17231ce5ca8609bdaa8156259b6f680214eab067a1364736f6c63430008250033' as const satisfies Hex
