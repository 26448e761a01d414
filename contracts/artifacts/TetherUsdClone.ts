// GENERATED FILE, DO NOT EDIT. Source: contracts/src/TetherUsdClone.sol.
// Regenerate with: npm run contracts:build (npx tsx contracts/scripts/compile.ts).
// solc 0.8.37+commit.f401782d.Emscripten.clang, optimizer on (runs 200), evmVersion cancun.
// contracts/test/artifacts.test.ts fails when this file no longer matches the sources.

import type { Abi, Hex } from 'viem'

export const tetherUsdCloneAbi = [
  {
    "inputs": [],
    "stateMutability": "nonpayable",
    "type": "constructor"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "spender",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "allowance",
        "type": "uint256"
      },
      {
        "internalType": "uint256",
        "name": "needed",
        "type": "uint256"
      }
    ],
    "name": "InsufficientAllowance",
    "type": "error"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "account",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "balance",
        "type": "uint256"
      },
      {
        "internalType": "uint256",
        "name": "needed",
        "type": "uint256"
      }
    ],
    "name": "InsufficientBalance",
    "type": "error"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "spender",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "allowance",
        "type": "uint256"
      }
    ],
    "name": "NonZeroAllowance",
    "type": "error"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "caller",
        "type": "address"
      }
    ],
    "name": "NotOwner",
    "type": "error"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "account",
        "type": "address"
      }
    ],
    "name": "SenderBlackListed",
    "type": "error"
  },
  {
    "inputs": [],
    "name": "TransfersPaused",
    "type": "error"
  },
  {
    "inputs": [],
    "name": "ZeroAddress",
    "type": "error"
  },
  {
    "anonymous": false,
    "inputs": [
      {
        "indexed": false,
        "internalType": "address",
        "name": "user",
        "type": "address"
      }
    ],
    "name": "AddedBlackList",
    "type": "event"
  },
  {
    "anonymous": false,
    "inputs": [
      {
        "indexed": true,
        "internalType": "address",
        "name": "owner",
        "type": "address"
      },
      {
        "indexed": true,
        "internalType": "address",
        "name": "spender",
        "type": "address"
      },
      {
        "indexed": false,
        "internalType": "uint256",
        "name": "value",
        "type": "uint256"
      }
    ],
    "name": "Approval",
    "type": "event"
  },
  {
    "anonymous": false,
    "inputs": [
      {
        "indexed": false,
        "internalType": "uint256",
        "name": "amount",
        "type": "uint256"
      }
    ],
    "name": "Issue",
    "type": "event"
  },
  {
    "anonymous": false,
    "inputs": [
      {
        "indexed": true,
        "internalType": "address",
        "name": "previousOwner",
        "type": "address"
      },
      {
        "indexed": true,
        "internalType": "address",
        "name": "newOwner",
        "type": "address"
      }
    ],
    "name": "OwnershipTransferred",
    "type": "event"
  },
  {
    "anonymous": false,
    "inputs": [],
    "name": "Pause",
    "type": "event"
  },
  {
    "anonymous": false,
    "inputs": [
      {
        "indexed": false,
        "internalType": "address",
        "name": "user",
        "type": "address"
      }
    ],
    "name": "RemovedBlackList",
    "type": "event"
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
    "anonymous": false,
    "inputs": [],
    "name": "Unpause",
    "type": "event"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "user",
        "type": "address"
      }
    ],
    "name": "addBlackList",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "account",
        "type": "address"
      },
      {
        "internalType": "address",
        "name": "spender",
        "type": "address"
      }
    ],
    "name": "allowance",
    "outputs": [
      {
        "internalType": "uint256",
        "name": "",
        "type": "uint256"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "spender",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "value",
        "type": "uint256"
      }
    ],
    "name": "approve",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "account",
        "type": "address"
      }
    ],
    "name": "balanceOf",
    "outputs": [
      {
        "internalType": "uint256",
        "name": "",
        "type": "uint256"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "decimals",
    "outputs": [
      {
        "internalType": "uint256",
        "name": "",
        "type": "uint256"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "account",
        "type": "address"
      }
    ],
    "name": "isBlackListed",
    "outputs": [
      {
        "internalType": "bool",
        "name": "",
        "type": "bool"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "uint256",
        "name": "amount",
        "type": "uint256"
      }
    ],
    "name": "issue",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "to",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "amount",
        "type": "uint256"
      }
    ],
    "name": "mint",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "name",
    "outputs": [
      {
        "internalType": "string",
        "name": "",
        "type": "string"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "owner",
    "outputs": [
      {
        "internalType": "address",
        "name": "",
        "type": "address"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "pause",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "paused",
    "outputs": [
      {
        "internalType": "bool",
        "name": "",
        "type": "bool"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "user",
        "type": "address"
      }
    ],
    "name": "removeBlackList",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "symbol",
    "outputs": [
      {
        "internalType": "string",
        "name": "",
        "type": "string"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "totalSupply",
    "outputs": [
      {
        "internalType": "uint256",
        "name": "",
        "type": "uint256"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "to",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "value",
        "type": "uint256"
      }
    ],
    "name": "transfer",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "from",
        "type": "address"
      },
      {
        "internalType": "address",
        "name": "to",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "value",
        "type": "uint256"
      }
    ],
    "name": "transferFrom",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "newOwner",
        "type": "address"
      }
    ],
    "name": "transferOwnership",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "unpause",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  }
] as const satisfies Abi

export const tetherUsdCloneBytecode = '0x60c0604052600a60809081526915195d1a195c881554d160b21b60a0525f90610028908261014a565b506040805180820190915260048152631554d11560e21b6020820152600190610051908261014a565b506006600255348015610062575f5ffd5b50600480546001600160a01b031916339081179091556040515f907f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0908290a3610208565b634e487b7160e01b5f52604160045260245ffd5b600181811c908216806100cf57607f821691505b6020821081036100ed57634e487b7160e01b5f52602260045260245ffd5b50919050565b601f821115610145578282111561014557805f5260205f20601f840160051c602085101561011e57505f5b90810190601f840160051c035f5b81811015610141575f8382015560010161012c565b5050505b505050565b81516001600160401b03811115610163576101636100a7565b6101778161017184546100bb565b846100f3565b6020601f8211600181146101a9575f83156101925750848201515b5f19600385901b1c1916600184901b178455610201565b5f84815260208120601f198516915b828110156101d857878501518255602094850194600190920191016101b8565b50848210156101f557868401515f19600387901b60f8161c191681555b505060018360011b0184555b5050505050565b610c03806102155f395ff3fe608060405234801561000f575f5ffd5b506004361061011c575f3560e01c806370a08231116100a9578063cc872b661161006e578063cc872b6614610245578063dd62ed3e14610258578063e47d606014610282578063e4997dc5146102a4578063f2fde38b146102b7575f5ffd5b806370a08231146101d85780638456cb59146101f75780638da5cb5b146101ff57806395d89b411461022a578063a9059cbb14610232575f5ffd5b806323b872dd116100ef57806323b872dd1461017d578063313ce567146101905780633f4ba83a1461019957806340c10f19146101a15780635c975abb146101b4575f5ffd5b806306fdde0314610120578063095ea7b31461013e5780630ecb93c01461015357806318160ddd14610166575b5f5ffd5b6101286102ca565b6040516101359190610a56565b60405180910390f35b61015161014c366004610aa6565b610355565b005b610151610161366004610ace565b61041a565b61016f60035481565b604051908152602001610135565b61015161018b366004610aee565b6104a1565b61016f60025481565b6101516105a5565b6101516101af366004610aa6565b610609565b6004546101c890600160a01b900460ff1681565b6040519015158152602001610135565b61016f6101e6366004610ace565b60056020525f908152604090205481565b6101516106e5565b600454610212906001600160a01b031681565b6040516001600160a01b039091168152602001610135565b61012861074f565b610151610240366004610aa6565b61075c565b610151610253366004610b28565b6107c8565b61016f610266366004610b3f565b600660209081525f928352604080842090915290825290205481565b6101c8610290366004610ace565b60076020525f908152604090205460ff1681565b6101516102b2366004610ace565b61086b565b6101516102c5366004610ace565b6108e8565b5f80546102d690610b70565b80601f016020809104026020016040519081016040528092919081815260200182805461030290610b70565b801561034d5780601f106103245761010080835404028352916020019161034d565b820191905f5260205f20905b81548152906001019060200180831161033057829003601f168201915b505050505081565b335f9081526006602090815260408083206001600160a01b0386168452909152902054811580159061038657508015155b156103bb57604051630f97e26960e21b81526001600160a01b0384166004820152602481018290526044015b60405180910390fd5b335f8181526006602090815260408083206001600160a01b03881680855290835292819020869055518581529192917f8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925910160405180910390a3505050565b6004546001600160a01b031633146104475760405163245aecd360e01b81523360048201526024016103b2565b6001600160a01b0381165f81815260076020908152604091829020805460ff1916600117905590519182527f42e160154868087d6bfdc0ca23d96a1c1cfa32f1b72ba9ba27b69b98a0d819dc91015b60405180910390a150565b600454600160a01b900460ff16156104cc57604051636ab17e0560e01b815260040160405180910390fd5b6001600160a01b0383165f9081526007602052604090205460ff161561051057604051635c8fd5cf60e01b81526001600160a01b03841660048201526024016103b2565b6001600160a01b0383165f9081526006602090815260408083203384529091529020545f198114610594578181101561056c57604051630c95cf2760e11b815233600482015260248101829052604481018390526064016103b2565b6001600160a01b0384165f908152600660209081526040808320338452909152902082820390555b61059f848484610997565b50505050565b6004546001600160a01b031633146105d25760405163245aecd360e01b81523360048201526024016103b2565b6004805460ff60a01b191690556040517f7805862f689e2f13df9f062ff482ad3ad112aca9e0847911ed832e158c525b33905f90a1565b6004546001600160a01b031633146106365760405163245aecd360e01b81523360048201526024016103b2565b6001600160a01b03821661065d5760405163d92e233d60e01b815260040160405180910390fd5b6001600160a01b0382165f9081526005602052604081208054839290610684908490610ba8565b925050819055508060035f82825461069c9190610ba8565b90915550506040518181526001600160a01b038316905f907fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef9060200160405180910390a35050565b6004546001600160a01b031633146107125760405163245aecd360e01b81523360048201526024016103b2565b6004805460ff60a01b1916600160a01b1790556040517f6985a02210a168e66602d3235cb6db0e70f92b3ba4d376a33c0f3d9434bff625905f90a1565b600180546102d690610b70565b600454600160a01b900460ff161561078757604051636ab17e0560e01b815260040160405180910390fd5b335f9081526007602052604090205460ff16156107b957604051635c8fd5cf60e01b81523360048201526024016103b2565b6107c4338383610997565b5050565b6004546001600160a01b031633146107f55760405163245aecd360e01b81523360048201526024016103b2565b6004546001600160a01b03165f908152600560205260408120805483929061081e908490610ba8565b925050819055508060035f8282546108369190610ba8565b90915550506040518181527fcb8241adb0c3fdb35b70c24ce35c5eb0c17af7431c99f827d44a445ca624176a90602001610496565b6004546001600160a01b031633146108985760405163245aecd360e01b81523360048201526024016103b2565b6001600160a01b0381165f81815260076020908152604091829020805460ff1916905590519182527fd7e9ec6e6ecd65492dce6bf513cd6867560d49544421d0783ddf06e76c24470c9101610496565b6004546001600160a01b031633146109155760405163245aecd360e01b81523360048201526024016103b2565b6001600160a01b03811661093c5760405163d92e233d60e01b815260040160405180910390fd5b6004546040516001600160a01b038084169216907f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0905f90a3600480546001600160a01b0319166001600160a01b0392909216919091179055565b6001600160a01b0383165f90815260056020526040902054818110156109e95760405163db42144d60e01b81526001600160a01b038516600482015260248101829052604481018390526064016103b2565b6001600160a01b038085165f8181526005602052604080822086860390559286168082529083902080548601905591517fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef90610a489086815260200190565b60405180910390a350505050565b602081525f82518060208401528060208501604085015e5f604082850101526040601f19601f83011684010191505092915050565b80356001600160a01b0381168114610aa1575f5ffd5b919050565b5f5f60408385031215610ab7575f5ffd5b610ac083610a8b565b946020939093013593505050565b5f60208284031215610ade575f5ffd5b610ae782610a8b565b9392505050565b5f5f5f60608486031215610b00575f5ffd5b610b0984610a8b565b9250610b1760208501610a8b565b929592945050506040919091013590565b5f60208284031215610b38575f5ffd5b5035919050565b5f5f60408385031215610b50575f5ffd5b610b5983610a8b565b9150610b6760208401610a8b565b90509250929050565b600181811c90821680610b8457607f821691505b602082108103610ba257634e487b7160e01b5f52602260045260245ffd5b50919050565b80820180821115610bc757634e487b7160e01b5f52601160045260245ffd5b9291505056fea26469706673582212204f6d69c3ff7ccb43b24ab1c811daf49620d423846155edfbc0f52cbd99e0722e64736f6c63430008250033' as const satisfies Hex
